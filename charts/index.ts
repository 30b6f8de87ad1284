export * from './canary-demo';
