// Administration, for admins: users (and their sign-in links), API tokens,
// the approval policy of each workflow type that asks for approval,
// webhooks and their delivery log. Each section is its own route (`/admin`,
// `/admin/tokens`, `/admin/policies`, `/admin/webhooks`,
// `/admin/deliveries`) so it can be linked to.

import { useTitle } from '../hooks/useTitle';
import { useViewer } from '../hooks/viewer';
import { roleLabel } from '../lib/policy';
import { Link } from '../router';
import { DeliveriesSection } from './admin/DeliveriesSection';
import { PoliciesSection } from './admin/PoliciesSection';
import { TokensSection } from './admin/TokensSection';
import { UsersSection } from './admin/UsersSection';
import { WebhooksSection } from './admin/WebhooksSection';

export type AdminSection = 'users' | 'tokens' | 'policies' | 'webhooks' | 'deliveries';

const SECTIONS: { key: AdminSection; to: string; label: string }[] = [
  { key: 'users', to: '/admin', label: 'Users' },
  { key: 'tokens', to: '/admin/tokens', label: 'Tokens' },
  { key: 'policies', to: '/admin/policies', label: 'Policies' },
  { key: 'webhooks', to: '/admin/webhooks', label: 'Webhooks' },
  { key: 'deliveries', to: '/admin/deliveries', label: 'Deliveries' },
];

function Section({ section }: { section: AdminSection }) {
  switch (section) {
    case 'users':
      return <UsersSection />;
    case 'tokens':
      return <TokensSection />;
    case 'policies':
      return <PoliciesSection />;
    case 'webhooks':
      return <WebhooksSection />;
    case 'deliveries':
      return <DeliveriesSection />;
  }
}

export function AdminPage({ section }: { section: AdminSection }) {
  const viewer = useViewer();
  const current = SECTIONS.find((s) => s.key === section) ?? SECTIONS[0];
  useTitle(`Admin: ${current?.label ?? 'Users'}`);
  if (!viewer.isAdmin) {
    return (
      <div className="stack narrow">
        <h1>Admin</h1>
        <div className="notice notice-info" data-testid="admin-only">
          <p className="notice-title">Only admins can manage users, tokens, policies and webhooks.</p>
          <p className="notice-body">You are signed in as {viewer.name} ({roleLabel(viewer.role)}).</p>
        </div>
      </div>
    );
  }
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Admin</h1>
      </div>
      <nav aria-label="Admin sections">
        <ul className="nav tabs">
          {SECTIONS.map((s) => (
            <li key={s.key}>
              <Link to={s.to} className="nav-link" aria-current={s.key === section ? 'page' : undefined}>
                {s.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <Section section={section} />
    </div>
  );
}
