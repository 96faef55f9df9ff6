import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'urql';
import { App } from './App';
import { createBatonClient } from './graphql/client';
import { LiveContext } from './hooks/live';
import './styles.css';

const { client, live } = createBatonClient();
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <Provider value={client}>
      <LiveContext.Provider value={live}>
        <App />
      </LiveContext.Provider>
    </Provider>
  </StrictMode>,
);
