import { lazy, Suspense } from 'react';
import { Layout } from './components/Layout';
import { NotFound } from './components/Problem';
import { Loading } from './components/States';
import { DeploymentsPage } from './pages/DeploymentsPage';
import { QueuePage } from './pages/QueuePage';
import { ReviewPage } from './pages/ReviewPage';
import { StartWorkflowPage } from './pages/StartWorkflowPage';
import { WorkflowDetailPage } from './pages/WorkflowDetailPage';
import { WorkflowsPage } from './pages/WorkflowsPage';
import { Routes, type Route } from './router';

// Only admins use it: loaded when first opened.
const AdminPage = lazy(() => import('./pages/AdminPage').then((m) => ({ default: m.AdminPage })));
// Read now and then (and the declare form is for admins): loaded when first opened.
const TypesPage = lazy(() => import('./pages/TypesPage').then((m) => ({ default: m.TypesPage })));
const TypeDetailPage = lazy(() => import('./pages/TypesPage').then((m) => ({ default: m.TypeDetailPage })));

// Order matters: `/workflows/new` before `/workflows/:id`.
const routes: Route[] = [
  { path: '/', render: () => <QueuePage /> },
  { path: '/approvals/:id', render: () => <ReviewPage /> },
  { path: '/workflows', render: () => <WorkflowsPage /> },
  { path: '/workflows/new', render: () => <StartWorkflowPage /> },
  { path: '/workflows/:id', render: () => <WorkflowDetailPage /> },
  { path: '/deployments', render: () => <DeploymentsPage /> },
  { path: '/types', render: () => <TypesPage /> },
  { path: '/types/:name', render: () => <TypeDetailPage /> },
  { path: '/admin', render: () => <AdminPage section="users" /> },
  { path: '/admin/tokens', render: () => <AdminPage section="tokens" /> },
  { path: '/admin/policies', render: () => <AdminPage section="policies" /> },
  { path: '/admin/webhooks', render: () => <AdminPage section="webhooks" /> },
  { path: '/admin/deliveries', render: () => <AdminPage section="deliveries" /> },
];

export function App() {
  return (
    <Layout>
      <Suspense fallback={<Loading />}>
        <Routes routes={routes} fallback={<NotFound what="Page" />} />
      </Suspense>
    </Layout>
  );
}
