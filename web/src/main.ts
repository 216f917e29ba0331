import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router.ts'
// Hand-written CSS, no kit: one file per part of the UI, bundled into one stylesheet by Vite.
import './styles/base.css'
import './styles/controls.css'
import './styles/home.css'
import './styles/pages.css'
import './styles/admin.css'

createApp(App).use(router).mount('#app')
