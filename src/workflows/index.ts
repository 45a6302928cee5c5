export { canaryPromotion } from './canaryPromotion';
export { healthCheck } from './healthCheck';
export { resourceLock } from './resourceLock';
// DR runbooks (障害復旧手順)
export { drDrill } from './drDrill';
export { fullOutageRecovery } from './fullOutageRecovery';
export { pointInTimeRestore } from './pointInTimeRestore';
export { specRegistry } from './specRegistry';
