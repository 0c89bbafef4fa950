/**
 * `apiEndpoint` strings (spec §1.1): the user's API root with the token as URL userinfo,
 * `https://{token}@{host}/{username}/`, always ending with `/`.
 */
export function userApiRoot(publicUrl: string, username: string): string {
  return `${publicUrl}/${username}/`;
}

export function apiEndpoint(publicUrl: string, username: string, token?: string): string {
  const root = userApiRoot(publicUrl, username);
  if (!token) return root;
  return root.replace(/^(\w+:\/\/)/, `$1${token}@`);
}
