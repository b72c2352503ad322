// Package data reads text corpora and writes generated samples for dgtext.
//
// It is pure Go (no libtorch), so it builds and tests in seconds.
//
// # Reading corpora
//
// [ForEachLine] streams the non-empty lines of files, folders and globs in three
// formats, chosen by extension and, for other names, by sniffing the first bytes:
//
//   - plain text, one sentence per line ("\n" or "\r\n" line endings);
//   - gzip-compressed text (".gz", or any file starting with the gzip magic);
//   - Parquet (".parquet", ".pq", or any file starting with "PAR1"): one line per
//     value of a string column, "text" unless [ReadOptions.Column] says otherwise;
//   - JSON Lines (".jsonl", ".ndjson", optionally ".gz"): one line per object,
//     taken from the same field as the Parquet column.
//
// [ForEachLineContext] stops when its context is done, even while a read waits on
// a FIFO, a pipe or a slow file system. With [ReadOptions.ContentHash] each file's
// SHA-256 is computed while it is read. [IsSampleFile] tells dgtext's sample files
// (with their refinement steps) from corpora.
//
// Reading never holds a corpus in memory ([ReadLines] does, when asked). Invalid
// UTF-8 is never dropped: each invalid byte becomes U+FFFD and the line is counted
// in [Stats.InvalidUTF8]. Empty lines (and Parquet or JSON nulls) are skipped and
// counted in [Stats.Empty]. A corpus without a single line is an error, and so is a
// corrupt or truncated file; errors name the file.
//
// [ResolveCorpus] turns a corpus name ("billion-words") or a path into train and
// evaluation file lists; see its documentation for where it looks.
//
// # Characters
//
// dgtext works in runes (Unicode code points), not bytes: the One Billion Word
// benchmark is UTF-8, and a byte model would split accented letters and
// punctuation such as "’" into several symbols. [PadRunes] cuts a line to a fixed
// number of runes and right-pads it with [PadChar]; a [Charmap] maps runes to
// indexes with 'unk' at index 0, exactly as the WGAN-GP language model does.
//
// # Writing
//
// Every file this package writes goes to a temporary file in the target folder
// and is renamed into place only on success ([WriteFileAtomic], [SampleWriter],
// [LineWriter]), so an interrupted run never leaves a half-written file under
// the final name.
//
// # Parquet schemas
//
// Generated samples ([CreateSampleWriter] with a ".parquet" path) are written one
// row per sample with this schema (all columns required):
//
//	message sample {
//	  required int64  id;                 // sample number within the run
//	  required binary text (STRING);      // decoded text, trailing padding removed
//	  required binary method (STRING);    // "gan", "dgflow", "ddls", "dot", ... (dictionary-encoded)
//	  required int32  step;               // refinement step the sample was taken at (0 = G(z))
//	  required int64  seed;               // random seed of the run
//	  required double critic;             // critic output d(G(z)) for the sample
//	  required group  z (LIST) {          // only with WriterOptions.Latents
//	    repeated group list { required float element; }
//	  }
//	  required group  x (LIST) {          // only with WriterOptions.Values: samples that are
//	    repeated group list { required float element; }  // images or vectors (text is then "")
//	  }
//	}
//
// Corpora converted by "dgtext data convert" ([CreateLineWriter] with a
// ".parquet" path) have a single column, in the Hugging Face style:
//
//	message corpus {
//	  required binary text (STRING);
//	}
//
// Both are Snappy-compressed by default, in row groups of about 16 MiB of text, and
// carry the key-value metadata "dgtext.schema" = "sample/v1" or "corpus/v1". The text
// column has no page-header statistics, and column-chunk min/max values longer than
// 4 KiB are dropped, so that long lines are stored once (the column index keeps
// 16-byte bounds).
// The JSON Lines equivalents are one object per line with the same field names
// ({"id":..,"text":..,"method":..,"step":..,"seed":..,"critic":..,"z":[..],"x":[..]} and
// {"text":..}); a non-finite critic score is written as null.
package data
