package main

import (
	"flag"

	"github.com/insider-import/insider-import/importer"
)

// rejectFlags are the flags run and validate share about rejected rows.
type rejectFlags struct {
	rejectsCSV string
	maxRejects string
	limit      *importer.RejectLimit
}

func (f *rejectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.rejectsCSV, "rejects-csv", "", "also write rejected rows as CSV to `file` (mode 0600): the source's own columns plus "+
		importer.RejectReasonColumn+", to fix and import again with the same config (inputs with another header go to file-2.csv, ...)")
	fs.StringVar(&f.maxRejects, "max-rejects", "", "stop with exit 2 once more than `N` rows are rejected, or N% of the rows read (checked from row 1000 on), e.g. 100 or 5%")
}

// check parses the flags' values; a bad one is a usage error.
func (f *rejectFlags) check() error {
	lim, err := importer.ParseRejectLimit(f.maxRejects)
	if err != nil {
		return usageError{err.Error()}
	}
	f.limit = lim
	return nil
}

func (f *rejectFlags) apply(opts *importer.Options) {
	opts.RejectsCSVPath = f.rejectsCSV
	opts.MaxRejects = f.limit
}
