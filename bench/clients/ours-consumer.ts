/**
 * One consumer benchmark run of this project's Consumer with its defaults (concurrent, a function listener that
 * only counts). See ours-run.ts.
 *
 * @module
 */
import { runOurs } from './ours-run'

runOurs('ours', {}, false)
