"""Lambda entry point for the HTTP API (Function URL, payload format 2.0)."""
from mangum import Mangum

from functions.app import create_app

handler = Mangum(create_app(), lifespan="off")
