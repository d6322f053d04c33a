package checkpoint_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/readers"
)

// Open picks the store by the URI's scheme; a wrong URI says what is wrong
// and matches ErrBadURI, a store that fails to open does not.
func TestOpenByScheme(t *testing.T) {
	ctx := context.Background()
	st := checkpoint.State{Job: "j", Files: map[string]*checkpoint.FileState{}}
	for _, uri := range []string{filepath.Join(t.TempDir(), "ckpt"), "file://" + filepath.Join(t.TempDir(), "ckpt")} {
		s, err := checkpoint.Open(ctx, uri, checkpoint.OpenOptions{})
		require.NoError(t, err, uri)
		require.IsType(t, &checkpoint.FileStore{}, s, uri)
		require.NoError(t, s.Save(ctx, "j", st))
		dir, local := checkpoint.LocalDir(uri)
		assert.True(t, local)
		assert.FileExists(t, filepath.Join(dir, "j.json"), "the store is at the URI's directory")
		require.NoError(t, s.Close(ctx))
	}

	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer fake.Close()
	client := newS3Client(t, fake.URL, "ak", "sk")
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ckpt")})
	require.NoError(t, err)
	s, err := checkpoint.Open(ctx, "s3://ckpt/jobs/", checkpoint.OpenOptions{S3: readers.S3Options{Client: client}})
	require.NoError(t, err)
	require.IsType(t, &checkpoint.S3Store{}, s)
	require.NoError(t, s.Save(ctx, "j", st))
	_, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("ckpt"), Key: aws.String("jobs/j.json")})
	assert.NoError(t, err, "the store is at the URI's bucket and prefix")
	require.NoError(t, s.Close(ctx))
	_, local := checkpoint.LocalDir("s3://ckpt/jobs/")
	assert.False(t, local)

	for uri, msg := range map[string]string{
		"s3:///jobs":   "has no bucket",
		"gs://b/jobs/": `unknown scheme "gs://" (use s3://, file:// or a directory)`,
	} {
		_, err := checkpoint.Open(ctx, uri, checkpoint.OpenOptions{})
		require.ErrorIs(t, err, checkpoint.ErrBadURI, uri)
		assert.ErrorContains(t, err, msg)
		assert.NotContains(t, err.Error(), checkpoint.ErrBadURI.Error(), "the text is the problem alone")
	}
}
