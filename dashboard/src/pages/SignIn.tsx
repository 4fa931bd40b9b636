/** Sign-in: the API key is sent once, as a Bearer header; the server answers with a session cookie. */
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import type { Session } from '../session';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const input = form.elements.namedItem('apiKey') as HTMLInputElement;
    const key = input.value.trim();
    if (!key) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const s = await api<Session>('POST', '/session', { bearer: key });
      // The key leaves the page as soon as the cookie is set.
      input.value = '';
      onSignedIn(s);
    } catch (err) {
      const e2 = err as ApiError;
      setError(e2.status === 401 ? 'That key is not valid (or it was revoked).' : e2.message);
      input.focus();
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>simlab</h1>
      <p>Sign in with an API key of your organization. <code>npm start</code> prints one; <code>simlab key create</code> makes another.</p>
      <form onSubmit={submit} autocomplete="off">
        <label for="apiKey">API key</label>
        <input id="apiKey" name="apiKey" type="password" autocomplete="off" spellcheck={false} placeholder="slk_…" required autofocus aria-describedby={error ? 'signin-error' : undefined} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error && (
        <p id="signin-error" class="error" role="alert">
          {error}
        </p>
      )}
    </main>
  );
}
