"""Deployment tooling: Terraform checks and Lambda packaging (not shipped in the wheel)."""
