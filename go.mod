module github.com/credkit/credkit

go 1.25.0

require (
	github.com/aws/aws-sdk-go-v2 v1.47.7
	github.com/aws/aws-sdk-go-v2/feature/rds/auth v1.7.10
)

require github.com/aws/smithy-go v1.28.8 // indirect
