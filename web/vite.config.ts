/// <reference types="vitest/config" />
// Vite: the dev server proxies /graphql (HTTP and the graphql-ws upgrade) to
// a running `baton serve`, so the app talks same-origin in development as it
// does in production (where baton serves web/dist itself).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const target = process.env.BATON_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/graphql': { target, ws: true, changeOrigin: true },
    },
  },
  preview: {
    proxy: {
      '/graphql': { target, ws: true, changeOrigin: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'test/**/*.test.{ts,tsx}'],
    setupFiles: ['./test/setup.ts'],
    restoreMocks: true,
  },
});
