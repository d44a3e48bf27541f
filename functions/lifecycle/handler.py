"""Lambda entry point for lifecycle messaging (EventBridge scheduled event)."""
from functions.lifecycle.scheduled import run_scheduled


def handler(event, context):
    return run_scheduled(event)
