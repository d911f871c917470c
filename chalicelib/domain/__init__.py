"""The domain: statuses, roles and the rules that turn results into drafts. Imports no boto3."""
