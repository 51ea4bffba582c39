import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The collector serves the built files from ui/dist at `/` and the API at /api/v1.
// For `npm run dev`, point TAPIR_API at a running collector.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 4000 },
  server: {
    proxy: {
      '/api': process.env.TAPIR_API ?? 'http://127.0.0.1:8080',
      '/metrics': process.env.TAPIR_API ?? 'http://127.0.0.1:8080',
    },
  },
  test: { environment: 'node', include: ['tests/*.test.ts'] },
});
