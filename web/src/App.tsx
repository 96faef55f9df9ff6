import { Layout } from './components/Layout';
import { NotFound } from './components/Problem';
import { AdminPage } from './pages/AdminPage';
import { DeploymentsPage } from './pages/DeploymentsPage';
import { QueuePage } from './pages/QueuePage';
import { ReviewPage } from './pages/ReviewPage';
import { StartWorkflowPage } from './pages/StartWorkflowPage';
import { WorkflowDetailPage } from './pages/WorkflowDetailPage';
import { WorkflowsPage } from './pages/WorkflowsPage';
import { Routes, type Route } from './router';

// Order matters: `/workflows/new` before `/workflows/:id`.
const routes: Route[] = [
  { path: '/', render: () => <QueuePage /> },
  { path: '/approvals/:id', render: () => <ReviewPage /> },
  { path: '/workflows', render: () => <WorkflowsPage /> },
  { path: '/workflows/new', render: () => <StartWorkflowPage /> },
  { path: '/workflows/:id', render: () => <WorkflowDetailPage /> },
  { path: '/deployments', render: () => <DeploymentsPage /> },
  { path: '/admin', render: () => <AdminPage section="users" /> },
  { path: '/admin/tokens', render: () => <AdminPage section="tokens" /> },
  { path: '/admin/policies', render: () => <AdminPage section="policies" /> },
];

export function App() {
  return (
    <Layout>
      <Routes routes={routes} fallback={<NotFound what="Page" />} />
    </Layout>
  );
}
