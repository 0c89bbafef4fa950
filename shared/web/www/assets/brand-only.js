// Pages without a script of their own still carry the service's branding.
import { applyBranding } from './brand.js';

applyBranding();
