/**
 * A connection URL fit for logs and error messages: the password (and a bare token in the user
 * part) replaced by `***`. Text that does not parse as a URL is not echoed at all.
 */
export function maskUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(unparsable url)';
  }
  if (parsed.password !== '') parsed.password = '***';
  else if (parsed.username !== '' && parsed.protocol.startsWith('redis')) parsed.username = '***';
  return parsed.toString();
}
