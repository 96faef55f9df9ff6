import { act, fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { Link, matchPath, Routes, useParams } from './router';

describe('matchPath', () => {
  it('matches literal and parameter segments', () => {
    expect(matchPath('/', '/')).toEqual({});
    expect(matchPath('/workflows/:id', '/workflows/abc')).toEqual({ id: 'abc' });
    expect(matchPath('/workflows/:id', '/workflows/abc/')).toEqual({ id: 'abc' });
    expect(matchPath('/workflows/:id', '/workflows')).toBeNull();
    expect(matchPath('/approvals/:id', '/workflows/abc')).toBeNull();
    expect(matchPath('/a/:id', '/a/%E2%9C%93')).toEqual({ id: '✓' });
    expect(matchPath('/a/:id', '/a/%E0%A4%A')).toBeNull();
  });
});

function Show() {
  return <p>workflow {useParams().id}</p>;
}

describe('Routes and Link', () => {
  it('navigates with the history API without reloading', () => {
    window.history.replaceState(null, '', '/');
    render(
      <>
        <Link to="/workflows/42">go</Link>
        <Routes
          routes={[
            { path: '/', render: () => <p>home</p> },
            { path: '/workflows/new', render: () => <p>new</p> },
            { path: '/workflows/:id', render: () => <Show /> },
          ]}
          fallback={<p>missing</p>}
        />
      </>,
    );
    expect(screen.getByText('home')).toBeTruthy();
    fireEvent.click(screen.getByText('go'));
    expect(window.location.pathname).toBe('/workflows/42');
    expect(screen.getByText('workflow 42')).toBeTruthy();
    act(() => {
      window.history.pushState(null, '', '/workflows/new');
      window.dispatchEvent(new PopStateEvent('popstate'));
    });
    expect(screen.getByText('new')).toBeTruthy();
    act(() => {
      window.history.pushState(null, '', '/nowhere');
      window.dispatchEvent(new PopStateEvent('popstate'));
    });
    expect(screen.getByText('missing')).toBeTruthy();
  });
});
