// Package plan is the run's plan stage: what is decided before anything is
// read or sent. Make expands the inputs, keeps this shard's (a Parquet
// file of several row groups is shared by row group), loads the job's
// checkpoint (refusing one written for another mapping), and opens every
// input once: its columns and types are held against the mapping
// (encode.SchemaProblems, and encode.SampleProblems on the first CSV
// rows), and its identity against the checkpoint: a changed input is
// decided by source.on_change, one modified within source.min_age waits,
// a partly imported one that is gone stops the run (ErrChangedInput). The
// Plan lists the files to read (Todo) and gives the reader options for
// this shard's part of each (PartOptions).
//
// Its inputs are the config and Options (the run's settings it reads);
// each input's fate goes to the report through Options.List. It imports
// importer/config, importer/encode, checkpoint and readers, never the
// importer.
package plan
