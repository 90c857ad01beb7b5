"""Stylesheet of the browser UI (kept in Python so it ships with the package)."""

CSS = """
/* ReelChat browser UI. Class names are prefixed rc- to stay clear of Gradio's own. */
.gradio-container { max-width: 1440px !important; margin: 0 auto; }
.rc-header { display: flex; align-items: center; gap: 14px; padding: 6px 2px 2px; }
.rc-logo {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  width: 1.9rem;
  height: 1.9rem;
  border-radius: 8px;
  background: #4f46e5;
  color: white;
  font-size: 0.95rem;
  align-self: center;
}
.rc-grid {
  display: grid !important;
  grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
  gap: 12px !important;
}
.rc-grid > .rc-slot { min-width: 0 !important; }
.rc-header h1 { font-size: 1.7rem; margin: 0; letter-spacing: -0.02em; }
.rc-header .rc-tagline { color: var(--body-text-color-subdued); font-size: 0.95rem; }
.rc-status { padding: 8px 12px; border-radius: 8px; font-size: 0.92rem; }
.rc-status-loading { background: #eef2ff; color: #3730a3; border: 1px solid #c7d2fe; }
.rc-status-failed { background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; font-weight: 600; }
.rc-status-ready { background: #ecfdf5; color: #065f46; border: 1px solid #a7f3d0; }
.rc-spinner {
  display: inline-block;
  width: 0.85em;
  height: 0.85em;
  border: 2px solid #a5b4fc;
  border-top-color: #4338ca;
  border-radius: 50%;
  animation: rc-spin 0.9s linear infinite;
  vertical-align: -1px;
}
@keyframes rc-spin { to { transform: rotate(360deg); } }
.rc-section-title { font-weight: 650; font-size: 1.02rem; margin: 4px 2px 2px; }
.rc-hidden { display: none !important; }
.rc-muted { color: var(--body-text-color-subdued); }
.rc-understood { font-size: 0.88rem; margin: 0 2px 4px; }
.rc-note {
  font-size: 0.88rem;
  padding: 6px 10px;
  border-radius: 8px;
  background: #f0fdf4;
  color: #166534;
  border: 1px solid #bbf7d0;
}
.rc-chips { gap: 6px !important; flex-wrap: wrap !important; }
.rc-chips > button, button.rc-chip {
  flex: 0 0 auto !important;
  min-width: 0 !important;
  width: auto !important;
  border-radius: 999px !important;
  padding: 3px 12px !important;
  font-size: 0.85rem !important;
  font-weight: 500 !important;
}
button.rc-chip-good {
  background: #ecfdf5 !important;
  border-color: #6ee7b7 !important;
  color: #065f46 !important;
}
button.rc-chip-bad {
  background: #fef2f2 !important;
  border-color: #fca5a5 !important;
  color: #991b1b !important;
}
button.rc-chip-neutral {
  background: #eff6ff !important;
  border-color: #93c5fd !important;
  color: #1e3a8a !important;
}
button.rc-chip:hover { text-decoration: line-through; }
.rc-examples { gap: 6px !important; flex-wrap: wrap !important; }
.rc-examples > button {
  flex: 0 0 auto !important;
  min-width: 0 !important;
  width: auto !important;
  font-size: 0.85rem !important;
  font-weight: 500 !important;
}
.rc-slot {
  border: 1px solid var(--border-color-primary);
  border-radius: 12px;
  padding: 12px 14px 10px !important;
  background: var(--block-background-fill);
  box-shadow: 0 1px 2px rgba(0,0,0,0.05);
  gap: 8px !important;
}
.rc-card { display: flex; flex-direction: column; gap: 6px; }
.rc-head { display: flex; align-items: baseline; gap: 8px; }
.rc-rank {
  flex: 0 0 auto;
  width: 1.6em;
  height: 1.6em;
  line-height: 1.6em;
  text-align: center;
  border-radius: 50%;
  background: #4f46e5;
  color: white;
  font-size: 0.8rem;
  font-weight: 700;
}
.rc-title { font-weight: 700; font-size: 1.08rem; }
.rc-year { color: var(--body-text-color-subdued); font-size: 0.95rem; }
.rc-genres { display: flex; flex-wrap: wrap; gap: 4px; }
.rc-genre {
  font-size: 0.75rem;
  padding: 1px 8px;
  border-radius: 999px;
  background: #f1f5f9;
  color: #334155;
  border: 1px solid #e2e8f0;
}
.rc-rating { font-size: 0.88rem; }
.rc-star { color: #f59e0b; }
.rc-expl { margin: 2px 0 !important; font-size: 0.9rem; line-height: 1.4; }
.rc-links { font-size: 0.82rem; }
.rc-links a { color: #4f46e5; text-decoration: none; }
.rc-links a:hover { text-decoration: underline; }
.rc-badge {
  align-self: flex-start;
  font-size: 0.78rem;
  font-weight: 600;
  padding: 2px 8px;
  border-radius: 6px;
}
.rc-badge-liked { background: #dcfce7; color: #166534; }
.rc-badge-disliked { background: #fee2e2; color: #991b1b; }
.rc-badge-seen { background: #e0e7ff; color: #3730a3; }
.rc-card-buttons { gap: 6px !important; }
.rc-card-buttons > button {
  min-width: 0 !important;
  font-size: 0.82rem !important;
  padding: 4px 6px !important;
}
.rc-empty {
  padding: 28px 12px;
  text-align: center;
  border: 1px dashed var(--border-color-primary);
  border-radius: 12px;
}
"""
