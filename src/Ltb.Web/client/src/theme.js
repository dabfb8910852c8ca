// The theme choice of this browser (localStorage): dark or light; the system's preference until one is chosen.
const key = 'ltb.theme';

export const theme = {
  isDark() {
    // Called by the layout's first interactive render: from here on the circuit answers (tests wait for this mark).
    document.body.dataset.ltbInteractive = '1';
    const chosen = localStorage.getItem(key);
    if (chosen) return chosen === 'dark';
    return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
  },
  set(dark) {
    localStorage.setItem(key, dark ? 'dark' : 'light');
  },
};
