/**
 * Run `fn` with TZ=Asia/Shanghai: the official SDK stamps requests with host-local time, Alipay (and the sandbox)
 * want Beijing time. TZ is restored afterwards.
 */
export async function inBeijingTime<T>(fn: () => Promise<T>): Promise<T> {
  const tz = process.env.TZ;
  process.env.TZ = 'Asia/Shanghai';
  try {
    return await fn();
  } finally {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  }
}
