import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBatonClient } from './graphql/client';
import { Session } from './graphql/session';
import { Root } from './Root';
import { navigate } from './router';
import './styles.css';

const session = new Session({
  fetch: (input, init) => window.fetch(input, init),
  location: window.location,
  replaceUrl: (url) => navigate(url, { replace: true }),
  connect: (hooks) => createBatonClient(hooks),
});
void session.start();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <Root session={session} />
  </StrictMode>,
);
