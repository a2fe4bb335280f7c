/**
 * One consumer benchmark run of this project's Consumer with the tuned setting the benchmark reports beside the
 * defaults: `consumeMessageBatchMaxSize: 32` (a listener call takes up to 32 messages of a queue, so a crossing into
 * JavaScript carries hundreds of messages and the per-call machinery is paid once per batch). See ours-run.ts.
 *
 * @module
 */
import { runOurs } from './ours-run'

runOurs('ours-tuned', { consumeMessageBatchMaxSize: 32 }, false)
