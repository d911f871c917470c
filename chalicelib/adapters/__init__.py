"""One adapter per outside system: dynamo (DynamoDB), s3, workflow (Step Functions), sqs,
jira/ and slack/. Each takes its client in __init__ (the AWS ones a stand-in from `aws` that
creates the boto3 client on first call) and turns the system's errors into ours."""
