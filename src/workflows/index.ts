export { canaryPromotion } from './canaryPromotion';
export { healthCheck } from './healthCheck';
export { resourceLock } from './resourceLock';
