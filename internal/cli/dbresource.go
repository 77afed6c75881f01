package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/awssdk"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
)

// dbResource is what RDS says about the database behind an endpoint name:
// the id that IAM policies name it by and whether it takes IAM tokens.
type dbResource struct {
	Kind       string // "instance" or "cluster"
	Identifier string // DBInstanceIdentifier or DBClusterIdentifier
	ResourceID string // DbiResourceId (db-...) or DbClusterResourceId (cluster-...)
	IAMAuth    bool   // IAMDatabaseAuthenticationEnabled
}

// rdsEndpointIdentifier reads the identifier and kind from an RDS endpoint
// name: NAME.ID.REGION.rds.amazonaws.com is instance NAME, and
// NAME.cluster-ID... (cluster-ro-, cluster-custom-) is cluster NAME. Other
// names (RDS Proxy endpoints, anything else) give "".
func rdsEndpointIdentifier(host string) (kind, id string) {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(host, ".")), ".")
	if len(labels) < 5 || !isRDSHost(host) {
		return "", ""
	}
	switch second := labels[1]; {
	case strings.HasPrefix(second, "proxy-"):
		return "", ""
	case strings.HasPrefix(second, "cluster-"):
		return "cluster", labels[0]
	default:
		return "instance", labels[0]
	}
}

// lookupDBResource asks RDS (DescribeDBInstances or DescribeDBClusters,
// read-only) about the database behind host, signed with c.
func (a *App) lookupDBResource(ctx context.Context, c creds.Credentials, files *awsconfig.Files, profile, region, host string) (*dbResource, error) {
	kind, id := rdsEndpointIdentifier(host)
	if id == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	opts := rds.Options{
		Region:           region,
		Credentials:      awssdk.ToSDK(creds.Static{Creds: c}),
		HTTPClient:       a.HTTP,
		RetryMaxAttempts: 1,
	}
	if e := source.ServiceEndpoint(a.Getenv, files, source.ProfileName(a.Getenv, profile), "rds"); e != "" {
		opts.BaseEndpoint = aws.String(e)
	}
	client := rds.New(opts)
	if kind == "cluster" {
		out, err := client.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
		if err != nil {
			return nil, describeDBError("DescribeDBClusters", id, err)
		}
		for _, cl := range out.DBClusters {
			return &dbResource{Kind: kind, Identifier: aws.ToString(cl.DBClusterIdentifier), ResourceID: aws.ToString(cl.DbClusterResourceId), IAMAuth: aws.ToBool(cl.IAMDatabaseAuthenticationEnabled)}, nil
		}
		return nil, fmt.Errorf("RDS has no cluster %q in %s", id, region)
	}
	out, err := client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return nil, describeDBError("DescribeDBInstances", id, err)
	}
	for _, in := range out.DBInstances {
		return &dbResource{Kind: kind, Identifier: aws.ToString(in.DBInstanceIdentifier), ResourceID: aws.ToString(in.DbiResourceId), IAMAuth: aws.ToBool(in.IAMDatabaseAuthenticationEnabled)}, nil
	}
	return nil, fmt.Errorf("RDS has no instance %q in %s", id, region)
}

// describeDBError says which call failed with AWS's code and message.
func describeDBError(call, id string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("rds:%s %s: %s: %s", call, id, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("rds:%s %s: %w", call, id, err)
}
