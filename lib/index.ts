export * from './canary';
export * from './linkerd-metric-templates';
export * from './load-generator';
export * from './load-tester';
export * from './mesh-namespace';
export * from './pod-security';
export * from './testapi-workload';
export * from './watcher-rbac';
