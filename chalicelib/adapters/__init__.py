"""One adapter per outside system. Each takes its boto3 client in __init__ and turns the
service's errors into the domain's exceptions."""
