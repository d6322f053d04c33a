package checkpoint_test

import (
	"testing"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/checkpoint/checkpointtest"
)

func TestMemoryStore(t *testing.T) {
	checkpointtest.Run(t, func(t *testing.T) checkpoint.Store { return checkpoint.NewMemoryStore() })
}
