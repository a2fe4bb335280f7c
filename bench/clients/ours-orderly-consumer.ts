/**
 * One consumer benchmark run of this project's Consumer with an orderly listener (`MessageListenerOrderly`: one
 * call at a time per queue, queues locked on the brokers) and otherwise default settings. See ours-run.ts.
 *
 * @module
 */
import { runOurs } from './ours-run'

runOurs('ours-orderly', {}, true)
