/**
 * Dot segments in a request path, in every spelling (the rule is `request-checks.ts`'s, item 1): on its
 * own, without Node APIs, for the mount table that the browser host shares.
 *
 * @module
 */

/**
 * A `.` or `..` segment in any spelling: one or two dots (`.` or `%2e`, any case) that start the path or
 * follow a separator (`/`, and `\`, `%2F`, `%5C` for the lenient servers on the way), and end it or are
 * followed by a separator or `;` parameters (`;`, `%3B`). One regular expression, as it runs on every
 * request (twice for a mounted one); test/server/request-checks.test.ts holds it to the segment-by-segment
 * reading of the same rule.
 */
const DOT_SEGMENT = /(?:^|\/|\\|%2f|%5c)(?:\.|%2e){1,2}(?=$|\/|\\|;|%2f|%5c|%3b)/i

/** Whether `path` (without its query) has a `.` or `..` segment in any spelling (see the module comment). */
export function hasDotSegment (path: string): boolean {
  return DOT_SEGMENT.test(path)
}
