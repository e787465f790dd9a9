/**
 * Vite config for the papertoys playground (root: web/).
 *
 * `base: './'` makes every asset URL relative, so the static build in web/dist/ runs from any
 * folder of any static file server and inside iframes, with no special headers (no COOP/COEP:
 * the wasm runs single-threaded in a module worker).
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // The wasm module is fetched by the worker; keep it a separate file, never inlined.
    assetsInlineLimit: 0,
  },
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
