import { defineConfig } from 'vitest/config';

// Static assets only: the query app serves dist/ at "/" (copied into its wwwroot at build time).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
