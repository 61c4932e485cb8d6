// @ts-check
// The shapes of the proxy's answers the dashboard reads, for the type check only (tsconfig.ui.json):
// the browser never loads the TypeScript files named here.

/** @typedef {import('../../../../protocol/types.ts').ServerView} ServerView */
/** @typedef {import('../../../../protocol/types.ts').DirectoryStatus} DirectoryStatus */
/** @typedef {import('../../../../protocol/types.ts').FileVersion} FileVersion */
/** @typedef {import('../../../../protocol/types.ts').Located} Located */
/** @typedef {import('../../../../protocol/types.ts').ListPage} ListPage */
/** @typedef {import('../../../../protocol/types.ts').ChangeEvent} ChangeEvent */
/** @typedef {import('../../../../protocol/types.ts').NodeView} NodeView */
/** @typedef {import('../../../../protocol/types.ts').JobState} JobState */
/** @typedef {import('../../../../protocol/types.ts').HeldLeaseView} HeldLeaseView */
/** @typedef {import('../../../../protocol/types.ts').Session} Session */
/** @typedef {import('../../../../protocol/types.ts').ChangeFeedState} ChangeFeedState */
/** @typedef {import('../../../../protocol/types.ts').RepairOutcome} RepairOutcome */

/**
 * A copy repair would make (roles/directory/repairer.ts RepairTask, which imports server code).
 * @typedef {{ name: string, version: number, sha256: string, size: number, copies: number[],
 *   source?: { id: number, url: string }, target?: { id: number, url: string }, waiting?: string }} RepairTask
 */

/**
 * GET /v1/status: the directory's view and the proxy's own (client/proxy-client.ts ProxyStatus).
 * @typedef {DirectoryStatus & { proxy: { id: number, user: string, badCopiesReported: number,
 *   changeFeed: ChangeFeedState, directory?: string, directories?: string[],
 *   cache: { entries: number, bytes: number, maxBytes: number, hits: number, misses: number } } }} ProxyStatus
 */

export {}
