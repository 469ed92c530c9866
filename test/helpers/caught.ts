/** The error `fn` throws; fails when it throws none. */
export function caught (fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a throw')
}
