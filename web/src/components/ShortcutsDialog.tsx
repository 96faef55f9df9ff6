import { useEffect, useRef } from 'react';

const GROUPS: { title: string; keys: [string, string][] }[] = [
  {
    title: 'Queue',
    keys: [
      ['j', 'Next approval'],
      ['k', 'Previous approval'],
      ['Enter', 'Open the selected approval'],
      ['x', 'Select or unselect it (for Approve selected)'],
    ],
  },
  {
    title: 'Review',
    keys: [
      ['f', 'Write feedback'],
      ['a', 'Approve'],
      ['r', 'Reject'],
      ['Ctrl + Enter', 'In the feedback box: approve with this feedback'],
      ['Esc', 'Leave the feedback box'],
    ],
  },
  { title: 'Anywhere', keys: [['?', 'Show or hide this help']] },
];

/** The keyboard help, as a modal dialog that returns focus when closed. */
export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const before = document.activeElement;
    closeRef.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        onClose();
      } else if (e.key === 'Tab') {
        // One focusable control: keep focus inside the dialog.
        e.preventDefault();
        closeRef.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
      if (before instanceof HTMLElement) before.focus();
    };
  }, [onClose]);

  return (
    <div className="backdrop" onClick={onClose}>
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="shortcuts-title"
        onClick={(e) => e.stopPropagation()}
      >
        <div className="dialog-head">
          <h2 id="shortcuts-title">Keyboard shortcuts</h2>
          <button ref={closeRef} type="button" className="btn btn-small" onClick={onClose}>
            Close
          </button>
        </div>
        {GROUPS.map((g) => (
          <section key={g.title} className="shortcut-group">
            <h3>{g.title}</h3>
            <dl>
              {g.keys.map(([k, what]) => (
                <div key={k} className="shortcut">
                  <dt>
                    <kbd>{k}</kbd>
                  </dt>
                  <dd>{what}</dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
      </div>
    </div>
  );
}
