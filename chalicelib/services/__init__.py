"""Services: the use cases. They receive adapters from bootstrap and never import boto3."""
