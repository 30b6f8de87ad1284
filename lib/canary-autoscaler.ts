import { ApiObject, JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CanaryTarget } from './canary-target';
import { checkDnsLabel, checkInt, claimUnique, invalid } from './validate';

/** Props for `CanaryAutoscaler`. */
export interface CanaryAutoscalerProps {
  /** The workload to scale; its Deployment then has no `replicas` field. */
  readonly target: CanaryTarget;

  /**
   * Name of the HorizontalPodAutoscaler. Flagger creates `<name>-primary` for
   * the primary Deployment from it.
   * @default - the target's name
   */
  readonly name?: string;

  /**
   * Fewest pods.
   * @default 2
   */
  readonly minReplicas?: number;

  /** Most pods. */
  readonly maxReplicas: number;

  /**
   * Average CPU use, in percent of the pods' CPU request, that the autoscaler keeps.
   * @default 80
   */
  readonly cpuUtilization?: number;
}

/**
 * A HorizontalPodAutoscaler (`autoscaling/v2`) for a canary's target. Give it
 * to the `Canary` (`autoscaler`): Flagger then copies it as
 * `<name>-primary` for the primary Deployment, which it owns, and scales the
 * target to zero between rollouts; never define the primary's autoscaler yourself.
 */
export class CanaryAutoscaler extends Construct {
  /** Name of the HorizontalPodAutoscaler. */
  public readonly name: string;
  /** The target it scales. */
  public readonly target: CanaryTarget;
  /** Fewest pods. */
  public readonly minReplicas: number;
  /** Most pods. */
  public readonly maxReplicas: number;
  /** The generated HorizontalPodAutoscaler. */
  public readonly resource: k8s.KubeHorizontalPodAutoscalerV2;

  public constructor(scope: Construct, id: string, props: CanaryAutoscalerProps) {
    super(scope, id);
    const where = `CanaryAutoscaler '${id}'`;
    const target = props.target;
    if (!(target instanceof CanaryTarget)) throw invalid(where, 'target', target, 'must be a CanaryTarget');
    if (target.replicas !== undefined) {
      throw invalid(where, 'target', target.name,
        `sets replicas (${target.replicas}): leave them unset, the autoscaler owns them and a re-apply would undo its scaling`);
    }
    claimUnique(this, where, 'target', target.name, `CanaryAutoscaler of ${target.node.path}`,
      'already has a CanaryAutoscaler: two autoscalers would fight over one Deployment');
    this.target = target;
    this.name = props.name ?? target.name;
    checkDnsLabel(where, 'name', this.name, 63 - '-primary'.length);
    this.minReplicas = props.minReplicas ?? 2;
    this.maxReplicas = props.maxReplicas;
    const cpu = props.cpuUtilization ?? 80;
    checkInt(where, 'minReplicas', this.minReplicas, 1, 1000);
    checkInt(where, 'maxReplicas', this.maxReplicas, 1, 1000);
    if (this.minReplicas > this.maxReplicas) {
      throw invalid(where, 'minReplicas', this.minReplicas, `must not exceed maxReplicas (${this.maxReplicas})`);
    }
    checkInt(where, 'cpuUtilization', cpu, 1, 1000);

    this.resource = new k8s.KubeHorizontalPodAutoscalerV2(this, 'Resource', {
      metadata: { name: this.name, labels: { app: target.name } },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target.name },
        minReplicas: this.minReplicas,
        maxReplicas: this.maxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu } } }],
      },
    });
    // The autoscaler owns the count: a `replicas` field would reset it at every apply.
    ApiObject.of(target.resource).addJsonPatch(JsonPatch.remove('/spec/replicas'));
  }
}
