/** The page frame: landmarks, skip link, navigation that shows who is signed in. */
import type { Child } from "hono/jsx";

export interface Viewer {
  signedIn: boolean;
  name?: string;
  org?: string;
  operator?: boolean;
  csrf?: string;
}

export function Layout(props: {
  title: string;
  viewer: Viewer;
  children: Child;
  notice?: string | undefined;
  alert?: string | undefined;
}) {
  const v = props.viewer;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Atoll`}</title>
        <link rel="stylesheet" href="/assets/app.css" />
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            Atoll
          </a>
          <nav aria-label="Main">
            <ul>
              <li>
                <a href="/">Marketplace</a>
              </li>
              <li>
                <a href="/portal">Developers</a>
              </li>
              <li>
                <a href="/docs">API reference</a>
              </li>
              {v.signedIn ? (
                <li>
                  <a href="/dashboard">Dashboard</a>
                </li>
              ) : null}
              {v.operator ? (
                <li>
                  <a href="/operator">Operator</a>
                </li>
              ) : null}
            </ul>
          </nav>
          <div class="who">
            {v.signedIn ? (
              <>
                <span class="muted">
                  {v.operator ? "Operator" : `${v.name ?? ""} · ${v.org ?? ""}`}
                </span>
                <form class="inline" method="post" action="/signout">
                  <input type="hidden" name="csrf" value={v.csrf ?? ""} />
                  <button class="secondary" type="submit">
                    Sign out
                  </button>
                </form>
              </>
            ) : (
              <a class="button" href="/signin">
                Sign in
              </a>
            )}
          </div>
        </header>
        <main id="main">
          {props.notice ? (
            <p class="notice" role="status">
              {props.notice}
            </p>
          ) : null}
          {props.alert ? (
            <p class="alert" role="alert">
              {props.alert}
            </p>
          ) : null}
          {props.children}
        </main>
        <footer>Atoll — an open plugin ecosystem on Cloudflare Workers.</footer>
      </body>
    </html>
  );
}
