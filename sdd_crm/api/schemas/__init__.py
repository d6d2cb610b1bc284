"""One marshmallow schema per API resource (see ``base``): input, output and the OpenAPI document."""
