package main

import (
	"context"
	"fmt"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer"
	"github.com/insider-import/insider-import/readers"
)

// openS3Store opens an S3 checkpoint store at uri (s3://bucket/prefix/),
// reaching S3 the way the config's source.s3 says (region, endpoint, path
// style) with credentials from the SDK's default chain.
func openS3Store(ctx context.Context, uri string, cfg *importer.Config) (checkpoint.Store, error) {
	bucket, prefix, err := checkpoint.ParseS3URI(uri)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--checkpoint: %v", err)}
	}
	client, err := readers.NewS3Client(ctx, cfg.Source.S3)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	s, err := checkpoint.NewS3Store(ctx, client, bucket, prefix, checkpoint.S3StoreOptions{})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return s, nil
}
