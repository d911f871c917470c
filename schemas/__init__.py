"""schemas/: the OpenAPI document generated from the code (`python -m schemas.generate`)."""
