export function twice(n) {
  const x = n;
  return x * 2;
}
