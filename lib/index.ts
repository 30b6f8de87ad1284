export * from './alert-provider';
export * from './canary';
export * from './canary-autoscaler';
export * from './canary-strategy';
export * from './canary-target';
export * from './linkerd-metric-templates';
export * from './load-generator';
export * from './load-tester';
export * from './mesh-authorization';
export * from './mesh-namespace';
export * from './metric-template';
export * from './request-match';
export * from './watcher-rbac';
export * from './workload-settings';
// The classes generated from Flagger's CRD (Canary, MetricTemplate, AlertProvider and their
// structs), as cdk8s-plus exposes Kubernetes' own under `k8s`.
export * as flagger from '../imports/flagger.app';
// Linkerd's policy classes (Server, AuthorizationPolicy, MeshTLSAuthentication), used by MeshAuthorization.
export * as linkerd from '../imports/policy.linkerd.io';
