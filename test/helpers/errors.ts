// Asserts an error's class, code and message, for the bad-input suites.
type Ctor = typeof TypeError | typeof RangeError | (new (...a: never[]) => Error);

export function expectError(fn: () => unknown, cls: Ctor, code: string, message: RegExp | string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected ${cls.name} ${code}, but nothing was thrown`);
  checkError(err, cls, code, message);
}

export async function expectReject(p: () => Promise<unknown>, cls: Ctor, code: string, message: RegExp | string): Promise<void> {
  let err: unknown;
  try {
    await p();
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected a rejection with ${cls.name} ${code}, but it resolved`);
  checkError(err, cls, code, message);
}

function checkError(err: unknown, cls: Ctor, code: string, message: RegExp | string): void {
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).constructor).toBe(cls);
  expect((err as { code?: string }).code).toBe(code);
  if (typeof message === 'string') expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
}
