// Package faults is dgtext's fault-injection suite (issue 11). It drives the
// dgtext binary as a user's script would and interrupts it: kill -9, SIGINT and
// SIGTERM at random moments of train, refine, sample, convert and eval, a full
// disk (a small tmpfs), an output folder that cannot be written (a read-only
// tmpfs) and inputs overwritten with random bytes while they are read.
//
// After every trial it checks that nothing was lost:
//   - every file under a final name is complete: the same samples, lines or
//     statistics as an uninterrupted run of the same command;
//   - a partial result (NAME.partial.EXT) is readable and holds only rows of
//     the complete run;
//   - every checkpoint loads (dgtext sample --model CKPT);
//   - after the next run to the same output, no temporary file remains;
//   - the inputs are unchanged (SHA-256), except the one a trial overwrote on
//     purpose;
//   - no panic, and a signalled run stops within its grace period.
//
// The suite only talks to the command line, so it keeps working while the
// commands' internals change. It is slow (15–30 minutes on 2 cores) and needs
// root for its tmpfs mounts (without it, the full disk becomes a file-size
// limit and the read-only folder a path under a regular file); run it with
//
//	make test-faults
//
// which sets DGTEXT_FAULTS=1 and DGTEXT_BIN. DGTEXT_FAULTS_SEED picks other
// random moments, DGTEXT_FAULTS_SCALE (0 < s ≤ 1) runs that fraction of the
// trials, DGTEXT_FAULTS_ONLY=refine,train only the trials of those commands,
// and the results table goes to DGTEXT_FAULTS_REPORT (default
// out/faults.md).
package faults
