/// <reference types="vitest/config" />
// Vite: the dev server proxies /graphql (HTTP and the graphql-ws upgrade)
// and /auth (sign-in, sign-out) to a running `baton serve`, so the app
// talks same-origin in development as it does in production (where baton
// serves web/dist itself), and the session cookie works the same.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const target = process.env.BATON_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/graphql': { target, ws: true, changeOrigin: true },
      // Sign-in and sign-out set and clear the session cookie.
      '/auth': { target, changeOrigin: true },
    },
  },
  preview: {
    proxy: {
      '/graphql': { target, ws: true, changeOrigin: true },
      '/auth': { target, changeOrigin: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // Every typed document lives in one generated module (src/gql/), which
    // the main chunk imports whole: ~500 kB minified, ~130 kB gzipped.
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'test/**/*.test.{ts,tsx}'],
    setupFiles: ['./test/setup.ts'],
    restoreMocks: true,
  },
});
